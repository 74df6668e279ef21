"""The course's data files, installed with the library as the resource package `portalit.data`.

Each folder holds its data, LICENSE and PROVENANCE.md. Find the folder with
`portalit.geometry.datasets.data_dir()` ($PORTALIT_DATA overrides it); nothing here is code.
"""
