"""Corpus composition: category profiles, document classification, mixture estimates and corpus scans."""
