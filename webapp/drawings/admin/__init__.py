"""Staff review of collected drawings: list, review queue, one-key labelling, grid review, bulk actions,
statistics.

Thin like the API views: reads come from selectors, writes go through services.
"""

from webapp.drawings.admin import drawing_admin  # noqa: F401 - registers DrawingAdmin
