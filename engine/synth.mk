# engine/: filled in by its module.
