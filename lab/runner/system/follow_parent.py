"""Preloaded by a runner's forkserver: arms parent-death on import (see parent_death).

Pool workers hold the write end of the pipe by which a forkserver learns that its runner has
gone, so a forkserver would outlive a SIGKILLed runner as long as its workers live, and they
as long as it does. Dying with the runner breaks that circle: the workers die with it.
"""

from __future__ import annotations

from lab.runner.system import parent_death

parent_death.arm_from_env()
