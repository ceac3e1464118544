"""The whole schema: the core models plus each material kind's own tables.

Each kind keeps its tables in its own module (cameras.py, calls.py, …) on the shared Base;
importing this module registers them all, which migrations and checks rely on.
"""

from kustosz.db import access, calls, cameras, clock, cluster, custody, events  # noqa: F401 - registers tables
from kustosz.db.models import Base

metadata = Base.metadata
