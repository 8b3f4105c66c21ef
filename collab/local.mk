# collab/: filled in by its module.
