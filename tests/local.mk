# tests/: filled in by its module.
