"""The Textual front end. Only this package imports Textual; screens render engine events."""
