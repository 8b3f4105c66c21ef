# storage/: filled in by its module.
