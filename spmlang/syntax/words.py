"""Words of the language that both the parser's hints and the checker read."""

CAP_SCOPES = {"row": "row", "deal": "row", "transaction": "row", "period": "period", "year": "year"}  # word -> scope
FREQUENCY_UNIT = {"monthly": "month", "quarterly": "quarter", "half_yearly": "half", "yearly": "year"}
