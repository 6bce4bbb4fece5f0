"""Customer statements (issue 11): the figures (`statement`), the PDF (`document`) and the activities that
read the ledger, render and mail it once (`sending`)."""
