"""One module per pipeline stage; :mod:`sipas.pipeline` lists them in order."""
