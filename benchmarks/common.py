"""What the benchmark scripts share: the ring configuration as suite text, and facts about
this machine that they print beside their timings."""

from __future__ import annotations

import platform
from pathlib import Path

#: The 8-Gaussian ring networks and optimiser at the size of Metz et al. (2016), as suite YAML
#: lines for ``str.format`` templates (braces doubled): z_dim 256, G 256→128→128→2, D 2→128→1,
#: ReLU, batch 512, Adam(1e-4, (0.5, 0.999)).
RING_MODEL_YAML = """\
model:
  generator: {{hidden: [128, 128], z_dim: 256}}
  discriminator: {{hidden: [128]}}
  activation: relu
optimizer: {{name: adam, lr: 1.0e-4, betas: [0.5, 0.999], batch_size: 512}}
"""


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def loadavg() -> str:
    """The 1/5/15-minute load averages, or ``?``."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"
