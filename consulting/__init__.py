"""consulting-api: the 2017 consulting-marketplace API, served from its OpenAPI contract."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = PROJECT_ROOT / "openapi" / "consulting.yaml"
DEFAULT_DATABASE = PROJECT_ROOT / "var" / "consulting.db"  # the SQLite file, unless DATABASE_URL
