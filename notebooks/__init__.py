"""The notebook templates. Installed as ``lcopia.notebooks``; lcopia finds them with
importlib.resources, so an installed lcopia runs them from any folder."""
