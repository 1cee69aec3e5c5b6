"""The models of the providers' answers: one module per provider, imported only by its adapter
when an answer is read (`status` builds one provider's models, not four), and lenient.py, the
field types and base they share. Like jobwatch/models.py, the modules that define models do
without `from __future__ import annotations`: pydantic would evaluate the annotation strings of
every base again for each subclass."""
