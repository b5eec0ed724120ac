"""What `mai eval` needs from outside the core: the model a run is pinned to."""
