"""Small committed subsets of the data sets, the default data for the tests (see README.md)."""
