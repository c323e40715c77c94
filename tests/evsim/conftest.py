"""The evsim package's tests write scenarios with code the way the user-code tests do."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "usercode"))
