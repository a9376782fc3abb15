"""Fleet runs (`--fleet ADDRESS`): one complete lab session on every host of a Dask cluster."""
