"""wbsdesk: facial-gestalt reader studies, physicians vs. CNNs on the same photos."""

__version__ = "0.1.0"
