// Placeholder so the target has a source until the module's first real file lands; delete it then.
