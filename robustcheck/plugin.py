"""pytest plugin (entry point ``pytest11``). Reserved: the plugin is built in a later issue.

Loading it must stay cheap: it imports nothing heavy.
"""

from __future__ import annotations
