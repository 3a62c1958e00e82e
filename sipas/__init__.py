"""sipas: reproducible analysis of Vietnam's SIPAS citizen-satisfaction survey.

Data flows one way: ``data/raw`` -> ``sipas`` functions -> ``data/processed`` ->
notebooks -> ``reports``.  See ARCHITECTURE.md for which module owns what.
"""

__version__ = "0.1.0"
