"""lockgate.server"""
