"""Other Python interpreters as one more axis of the matrix: finding and probing them (`probe`),
the cached runner environment each one runs the lab's runner from (`envcache`, `envbuild`)."""
