"""Deployment: the image build script and the run-prod launcher."""
