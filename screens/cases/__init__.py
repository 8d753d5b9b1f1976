"""Screens: 事项: the case list, a case, registering and acting, the figures."""
