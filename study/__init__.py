"""The study: its protocol settings, above the CRF machinery and below the clinical apps."""
