"""Tables, pairwise tests, plots and the report files of one or more run folders."""
