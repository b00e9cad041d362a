"""The automation app's pages, one module per topic."""
