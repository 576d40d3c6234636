"""Offline work on the detectors: training, evaluation and their reports.

Nothing here runs in the platform. `anxin train` and `anxin detect` import it when asked, and
the runtime (`alerts/`, `anxin.platform`) never does: a test starts the platform and checks that
no module of this package was loaded. The models it writes (`alerts/models/`) are what the
runtime reads.
"""
