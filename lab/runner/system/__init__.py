"""Process plumbing shared by the runner and the session that starts it: process groups,
parent-death, the children's environment and stray processes."""
