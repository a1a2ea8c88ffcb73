"""An organization's whole data carried from one Lantern instance to another (or kept as a backup): exported to a
zip archive, imported as a new organization."""
