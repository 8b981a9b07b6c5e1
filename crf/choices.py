"""Choice lists shared by many CRFs."""

from django.utils.translation import gettext_lazy as _

YES_NO = ((True, _("Yes")), (False, _("No")))
