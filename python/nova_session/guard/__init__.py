"""The guard room: what protects the trail's content. ``redact`` removes secrets
from records before they are written (the engine is in the kernels; the rules
are data in ``rules/``); the prompt-injection scanner seam is ``scanner``."""
