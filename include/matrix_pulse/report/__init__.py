"""Quarterly review pack (季度复盘): read the published marts, render, archive, e-mail once.

Modules: ``quarters`` (labels and date ranges), ``audiences`` (config/audiences.yaml),
``fonts`` (explicit CJK font discovery), ``queries`` (every SQL against the published
file), ``model`` (tables, KPIs, recommendations as plain data), ``advice`` (the stated
rules, thresholds from config/advice.yaml), ``pack`` (assemble one pack), ``charts``,
``render`` (HTML mail, PDF, XLSX), ``chromium`` (prints the PDF in headless Chromium), ``gate`` (quality gate), ``ledger`` (SQLite send ledger), ``mailer`` (SMTP sending,
exactly once), ``flow`` (what the DAG tasks call). Heavy libraries (matplotlib, playwright,
pandas) are imported inside functions so the DAG file parses fast.
"""
