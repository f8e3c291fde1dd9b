"""The version of spmlang (in a module of its own: the engine and the manifest read it without importing the
package's API)."""

__version__ = "0.1.0"
