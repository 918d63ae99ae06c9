"""`make bench`: dlweek measured against the recipes people use instead (see RESULTS.md)."""
