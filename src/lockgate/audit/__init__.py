"""lockgate.audit"""
