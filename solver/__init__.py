# ortools' cp_model without pandas until it is used: every solver module imports cp_model after this
from ._cp_model_import import import_cp_model

import_cp_model()
