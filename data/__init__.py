"""The illustrative sample project. Its ``policy/`` and ``taxonomy/`` are also the starter
policy pack that ``lcopia init`` copies into a new project (installed as ``lcopia.starter``)."""
