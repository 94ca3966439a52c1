"""lockgate.auth"""
