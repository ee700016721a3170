"""The package list, which pyproject.toml cannot state: every ``mockattr`` package found (a new vendor
package is picked up without an edit here) plus the contract and fixtures, installed inside it."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["mockattr", "mockattr.*"]), "mockattr.schemas", "mockattr.fixtures"])
