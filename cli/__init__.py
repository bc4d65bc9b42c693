"""The `forensics` command line: a thin click layer over the library (the library never imports it)."""
