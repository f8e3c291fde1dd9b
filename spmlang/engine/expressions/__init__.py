"""Checked expressions evaluated over whole columns: values, arithmetic, functions and the walk."""
