# bench/: filled in by its module.
