"""Starting the platform imports none of the offline training and evaluation code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from anxin.services import LocalMosquitto

# Runs in a fresh interpreter: this test process has imported `evaluation` through its neighbours.
_SCRIPT = """
import json, sys
from pathlib import Path
from anxin.platform import start_platform
from tests.reliability.helpers import platform_settings

settings = platform_settings(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]), http_port=0)
with start_platform(settings) as platform:
    loaded = sorted(name for name in sys.modules if name == "evaluation" or name.startswith("evaluation."))
print(json.dumps({"loaded": loaded}))
"""


def test_starting_the_platform_imports_no_offline_code(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, db_url, mqtt_broker.url, topic_prefix, str(tmp_path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"loaded": []}
