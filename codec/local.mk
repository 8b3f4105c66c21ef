# codec/: filled in by its module.
