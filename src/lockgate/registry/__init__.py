"""lockgate.registry"""
