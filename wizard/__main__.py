from wizard.frontends.cli import entry

entry()
