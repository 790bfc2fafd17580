"""Operating the messaging database, one module per concern.

database: where it is, is it there, its schema (and OperationFailed, which every
operation raises with one line an operator can act on); backup, restore and postgres:
copies and putting them back; health: the figures for the admin page and `stats`;
verify: text only in the messaging database, metadata in agreement; purge: retention.
Nothing here ever prints, logs or returns message text. Import from the modules.
"""
