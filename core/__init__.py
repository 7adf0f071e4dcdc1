"""CandleLab's engine: market data, labeling, bots, the model registry and background jobs.

Nothing in this package imports Streamlit; the dashboard, the CLI and the scheduler all call in.
"""

__version__ = "0.1.0"
